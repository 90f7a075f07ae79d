invalid-choice = Samahani, sijaelewa. Tafadhali chagua mojawapo ya chaguo.
invalid-input = Samahani, hilo si sahihi. Tafadhali jaribu tena.
choice-yes = Ndiyo
choice-no = Hapana
goodbye = Asante. Kwaheri!
nav-more = Zaidi
nav-back = Rudi
nav-sms-more = Jibu 9 kwa zaidi
nav-sms-back = Jibu 0 kurudi
nav-list-button = Chagua

# Hutumwa na mfumo: uthibitisho wa ridhaa na arifa za foleni.
opted-out = Hutapokea ujumbe zaidi kutoka kwetu. Tuma START kuzipokea tena.
opted-in = Karibu tena: utapokea ujumbe wetu tena. Tuma STOP kuzisimamisha.
notify-called = Tiketi { $ticket }: ni zamu yako. Tafadhali nenda dirisha { $counter }.
notify-recalled = Tiketi { $ticket }: bado tunakusubiri dirisha { $counter }.
notify-no-show = Tiketi { $ticket } imefungwa kwa sababu hatukukupata. Tuma JOIN kupata tiketi mpya.
notify-transferred = Umehamishiwa { $service }. Tiketi yako mpya ni { $ticket }.
notify-approaching = Tiketi { $ticket }: zamu yako inakaribia. { $ahead ->
    [0] Wewe ndiye unayefuata.
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  } Tafadhali njoo tawini.
ussd-resume =
    Endelea ulipoishia?
    1. Endelea
    2. Anza upya
notify-position = Tiketi { $ticket }: { $ahead ->
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  }
notify-following = Utapokea habari za tiketi { $ticket } hapa. { $ahead ->
    [0] Wewe ndiye unayefuata.
    [one] Mtu 1 yuko mbele yako.
   *[other] Watu { $ahead } wako mbele yako.
  }
