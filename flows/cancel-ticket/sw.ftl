keywords-cancel = ghairi
cancel-confirm = Ghairi tiketi { $ticket }? Utapoteza nafasi yako.
cancel-yes = Ndiyo, ghairi
cancel-no = Hapana, ibaki
cancel-done = Tiketi { $ticket } imeghairiwa. Tuma MENYU kujiunga tena.
cancel-kept = Sawa, unabaki na tiketi { $ticket }.
cancel-too-late = Tiketi { $ticket } imeshaitwa. Tafadhali nenda { $counter }.
cancel-none = Huna tiketi ya kughairi.
