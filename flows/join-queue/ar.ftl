keywords-join = انضمام, طابور
pick-site = أهلًا بك في { $tenant }. أي فرع؟
pick-service = ما الخدمة التي تحتاجها؟
name-offer = هل تريد إعطاء اسمك لنناديك به؟
name-no = لا، شكرًا
ask-name = اكتب اسمك من فضلك.
ticket-issued = تذكرتك { $ticket } ({ $service_label }). { $ahead ->
    [0] دورك التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
    [many] أمامك { $ahead } شخصًا.
   *[other] أمامك { $ahead } شخص.
  } الانتظار { $eta_min }-{ $eta_max } دقيقة.
ticket-issued-no-eta = تذكرتك { $ticket } ({ $service_label }). { $ahead ->
    [0] دورك التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
    [many] أمامك { $ahead } شخصًا.
   *[other] أمامك { $ahead } شخص.
  } سنخبرك عند فتح شباك.
already-waiting = لديك التذكرة { $ticket }. { $ahead ->
    [0] دورك التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
    [many] أمامك { $ahead } شخصًا.
   *[other] أمامك { $ahead } شخص.
  }
service-closed = عذرًا، { $service_label } مغلقة الآن. حاول لاحقًا.
no-services = عذرًا، لا توجد خدمة مفتوحة الآن. حاول لاحقًا.
still-there = هل ما زلت هنا؟ هل تريد المتابعة؟
