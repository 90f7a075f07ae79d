keywords-join = jiunge, foleni
pick-site = Karibu { $tenant }. Tawi lipi?
pick-service = Unahitaji huduma gani?
name-offer = Ungependa kutoa jina lako ili tukuite?
name-no = Hapana, asante
ask-name = Tafadhali andika jina lako.
ticket-issued = Tiketi yako ni { $ticket } ya { $service_label }. { $ahead ->
    [0] Wewe ndiye unayefuata.
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  } Takriban dakika { $eta_min }-{ $eta_max }.
ticket-issued-no-eta = Tiketi yako ni { $ticket } ya { $service_label }. { $ahead ->
    [0] Wewe ndiye unayefuata.
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  } Tutakujulisha dirisha likifunguliwa.
already-waiting = Tayari una tiketi { $ticket }. { $ahead ->
    [0] Wewe ndiye unayefuata.
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  }
service-closed = Samahani, { $service_label } imefungwa sasa. Jaribu tena baadaye.
no-services = Samahani, hakuna huduma iliyo wazi sasa. Jaribu tena baadaye.
still-there = Bado uko hapo? Ungependa kuendelea?
