invalid-choice = عذرًا، لم أفهم. اختر أحد الخيارات.
invalid-input = عذرًا، هذا غير صحيح. حاول مرة أخرى.
choice-yes = نعم
choice-no = لا
goodbye = شكرًا لك. مع السلامة!
nav-more = المزيد
nav-back = رجوع
nav-sms-more = أرسل 9 للمزيد
nav-sms-back = أرسل 0 للرجوع
nav-list-button = اختر

# يرسلها النظام: تأكيدات الموافقة وإشعارات الطابور.
opted-out = لن تصلك رسائل منا بعد الآن. أرسل START لتلقيها مجددا.
opted-in = مرحبا بعودتك: ستصلك رسائلنا مجددا. أرسل STOP لإيقافها.
notify-called = التذكرة { $ticket }: حان دورك. يرجى التوجه إلى الشباك { $counter }.
notify-recalled = التذكرة { $ticket }: ما زلنا ننتظرك عند الشباك { $counter }.
notify-no-show = أغلقت التذكرة { $ticket } لأننا لم نجدك. أرسل JOIN للحصول على تذكرة جديدة.
notify-transferred = تم نقلك إلى { $service }. تذكرتك الجديدة هي { $ticket }.
notify-approaching = التذكرة { $ticket }: اقترب دورك. { $ahead ->
    [0] أنت التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
   *[other] أمامك { $ahead } شخصا.
  } يرجى الحضور إلى الفرع.
ussd-resume =
    هل تريد المتابعة من حيث توقفت؟
    1. متابعة
    2. البدء من جديد
notify-position = التذكرة { $ticket }: { $ahead ->
    [zero] لا أحد أمامك.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
   *[other] أمامك { $ahead } شخصا.
  }
notify-following = ستصلك هنا أخبار التذكرة { $ticket }. { $ahead ->
    [zero] أنت التالي.
    [one] أمامك شخص واحد.
    [two] أمامك شخصان.
    [few] أمامك { $ahead } أشخاص.
   *[other] أمامك { $ahead } شخصا.
  }
