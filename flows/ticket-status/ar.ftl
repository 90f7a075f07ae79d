keywords-position = دوري, موقعي
status-waiting = التذكرة { $ticket }: { $ahead ->
    [0] دورك التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
    [many] أمامك { $ahead } شخصًا.
   *[other] أمامك { $ahead } شخص.
  } الانتظار { $eta_min }-{ $eta_max } دقيقة.
status-waiting-no-eta = التذكرة { $ticket }: { $ahead ->
    [0] دورك التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
    [many] أمامك { $ahead } شخصًا.
   *[other] أمامك { $ahead } شخص.
  } لا تقدير بعد.
status-called = التذكرة { $ticket }: حان دورك. توجه إلى { $counter }.
status-none = ليست لديك تذكرة. أرسل قائمة للانضمام لطابور.
