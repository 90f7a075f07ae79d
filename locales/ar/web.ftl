# Web views (Arabic). Translated from en/web.ftl, the source of truth: same ids and
# variables (checked by sq-i18n's parity test).

web-skip-to-content = انتقل إلى المحتوى
web-language = اللغة
web-back = رجوع
web-error-title = حدث خطأ
web-error-generic = تعذّر إكمال الطلب.
error-csrf_invalid = انتهت صلاحية هذا النموذج أو لم يُرسل من هذا الموقع. أعد تحميل الصفحة وحاول مرة أخرى.
error-counter_required = اختر نافذتك أولاً.
error-platform_login = حسابات المنصة ليس لها صفحات فروع: سجّل الدخول بحساب تابع للمؤسسة.

## Staff pages
web-nav-label = الرئيسية
web-nav-console = لوحة الموظف
web-nav-supervisor = الإشراف
web-nav-devices = الأجهزة
web-nav-announcements = الإعلانات
web-logout = تسجيل الخروج
web-login-title = دخول الموظفين
web-login-email = البريد الإلكتروني
web-login-password = كلمة المرور
web-login-submit = دخول

## Agent console
web-console-title = لوحة الموظف
web-console-no-agent = حسابك ليس له ملف موظف، لذا لا يمكنك نداء التذاكر.
web-console-counter = نافذتي
web-console-use-counter = استخدم هذه النافذة
web-console-my-queues = الطوابير التي أخدمها
web-console-my-queues-hint = يستخدم «نداء التالي» وقائمة الانتظار الطوابير المحددة فقط. لا تحدد شيئاً لخدمة كل طوابيرك.
web-console-save-queues = حفظ طوابيري
# $counter: the counter's name
web-console-at-counter = عند النافذة { $counter }
web-console-current = التذكرة الحالية
web-console-none = لا توجد تذكرة عند نافذتك.
web-console-status = الحالة
web-console-timer = مدة الخدمة
web-console-customer = العميل
web-console-language = اللغة
web-console-channel = القناة
web-console-waiting = في الانتظار
web-console-nobody = لا أحد في الانتظار.
web-console-figures = أرقامي اليوم
web-console-served = تمت خدمتهم
web-console-average = متوسط مدة الخدمة
web-console-shortcuts = لوحة المفاتيح: N التالي، R إعادة النداء، S بدء، P إيقاف مؤقت، T تحويل، X لم يحضر، C إغلاق.
web-action-call-next = نداء التالي
web-action-recall = إعادة النداء
web-action-start = بدء
web-action-pause = إيقاف مؤقت
web-action-pause-reason = السبب
web-action-resume = استئناف
web-action-no-show = لم يحضر
web-action-close = إغلاق
web-action-transfer = تحويل
web-action-transfer-to = إلى الطابور

## Tables
web-col-number = الرقم
web-col-queue = الطابور
web-col-waited = مدة الانتظار
web-col-status = الحالة
web-col-waiting = في الانتظار
web-col-longest = أطول انتظار
web-col-sla = الهدف
web-col-served = خُدموا اليوم
web-col-agent = الموظف
web-col-ticket = التذكرة

## Supervisor
web-supervisor-title = الإشراف
web-supervisor-queues = الطوابير
web-supervisor-agents = الموظفون
web-supervisor-show = عرض
web-sla-ok = ضمن الهدف
web-sla-warn = قريب من الهدف
web-sla-breach = تجاوز الهدف
web-queue-status-open = مفتوح
web-queue-status-paused = متوقف مؤقتاً
web-queue-status-closed = مغلق
web-agent-status-available = متاح
web-agent-status-serving = يخدم
web-agent-status-paused = متوقف مؤقتاً
web-agent-status-offline = غير متصل

## Devices
web-devices-title = الشاشات والأكشاك
web-devices-new = ربط جهاز
web-devices-name = الاسم
web-devices-site = الفرع
web-devices-kind = النوع
web-devices-kind-display = شاشة عرض
web-devices-kind-kiosk = كشك
web-devices-pair = إنشاء مفتاح الجهاز
web-devices-list = الأجهزة المرتبطة
web-devices-key = المفتاح
web-devices-active = نشط
web-devices-revoked = ملغى
web-devices-revoke = إلغاء
# $name: the device's name
web-devices-created = تم ربط الجهاز { $name }
web-devices-key-once = افتح هذا العنوان على الجهاز. يظهر المفتاح مرة واحدة فقط.

## Announcements (display tickers)
web-ann-title = إعلانات الشاشات
web-ann-new = نشر إعلان
web-ann-text = النص
web-ann-starts = العرض ابتداءً من
web-ann-ends = العرض حتى
web-ann-times-hint = اختياري. الأوقات بتوقيت الفرع ({ $zone })؛ اترك الحقلين فارغين لعرضه من الآن حتى تحذفه.
web-ann-publish = نشر
web-ann-list = إعلانات هذا الفرع
web-ann-none = لا توجد إعلانات: تعرض الشاشات رسالة الترحيب.
web-ann-status-active = معروض
web-ann-status-scheduled = مجدول
web-ann-status-ended = منتهٍ
web-ann-delete = حذف

## Display
web-display-title = النداء الآن
web-display-now = النداء الآن
web-display-recent = نُودي مؤخراً
web-display-counter = النافذة
# $counter: the counter's name
web-display-at-counter = النافذة { $counter }
web-display-announcements = إعلانات
web-display-enable-sound = تشغيل الصوت
# $site: the site's name
web-display-ticker = مرحباً بكم في { $site }. يرجى الاحتفاظ بتذكرتكم ومتابعة هذه الشاشة.
# Spoken on each call. $number: spelled digit by digit ("A 0 1 2"); $counter: counter name.
web-announce = التذكرة { $number }، النافذة { $counter }

## Kiosk and tracker
web-kiosk-title = خذ تذكرة
web-kiosk-choose = المس الخدمة التي تحتاجها.
web-kiosk-large-text = نص كبير
web-kiosk-your-ticket = تذكرتك
web-kiosk-whatsapp = تابع دورك على واتساب
web-kiosk-scan = امسح الرمز لمتابعة دورك
web-kiosk-print = طباعة التذكرة
web-kiosk-done = تم
web-ticket-position = الترتيب
web-ticket-eta = الانتظار المتوقع
# $min, $max: whole minutes
web-eta-range = { $min }–{ $max } دقيقة
web-eta-about = حوالي { $min } دقيقة
web-tracker-title = تذكرتك
web-tracker-cancel = إلغاء تذكرتي
web-tracker-cancel-confirm = إلغاء هذه التذكرة؟ ستفقد دورك.
web-tracker-cancelled = تم إلغاء تذكرتك.
web-ticket-status-waiting = في الانتظار
web-ticket-status-called = تم النداء: توجه إلى النافذة
web-ticket-status-recalled = نداء ثانٍ: توجه إلى النافذة
web-ticket-status-serving = قيد الخدمة
web-ticket-status-paused = متوقف مؤقتاً
web-ticket-status-served = تمت الخدمة
web-ticket-status-no_show = لم يحضر
web-ticket-status-transferred = تم التحويل
web-ticket-status-cancelled = ملغاة
web-channel-whatsapp = واتساب
web-channel-sms = رسالة نصية
web-channel-ussd = USSD
web-channel-telegram = تيليجرام
web-channel-kiosk = كشك
web-channel-web = الويب
web-channel-counter = النافذة
