keywords-position = nafasi, zamu yangu
status-waiting = Tiketi { $ticket }: { $ahead ->
    [0] wewe ndiye unayefuata.
    [one] mtu 1 yuko mbele yako.
   *[other] watu { $ahead } wako mbele yako.
  } Takriban dakika { $eta_min }-{ $eta_max }.
status-waiting-no-eta = Tiketi { $ticket }: { $ahead ->
    [0] wewe ndiye unayefuata.
    [one] mtu 1 yuko mbele yako.
   *[other] watu { $ahead } wako mbele yako.
  } Hakuna makadirio bado.
status-called = Tiketi { $ticket }: ni zamu yako. Tafadhali nenda { $counter }.
status-none = Huna tiketi sasa. Tuma MENYU kujiunga na foleni.
