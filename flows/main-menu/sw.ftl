keywords-hi = habari, jambo, mambo
menu-prompt = Karibu { $tenant }. Ungependa kufanya nini?
menu-join = Jiunge na foleni
menu-status = Tiketi yangu
menu-cancel = Ghairi tiketi yangu
menu-language = Badilisha lugha
menu-help = Msaada
menu-help-text = Tuma MENYU kurudi hapa, HALI kwa tiketi yako, LUGHA kubadilisha lugha, ACHA kusitisha ujumbe.
