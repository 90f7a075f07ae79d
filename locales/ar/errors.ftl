# رسائل أخطاء واجهة API (العربية). المصدر: locales/en/errors.ftl.
# القيم اللاتينية (الرموز والأمثلة) تبقى كما هي؛ وتحمي علامة { "\u200E" } اتجاهها.

## المصادقة والصلاحيات

error-unauthenticated = يرجى تسجيل الدخول: يتطلب هذا الطلب رمز وصول أو مفتاح API.
error-invalid_credentials = البريد الإلكتروني أو كلمة المرور غير صحيحة.
error-invalid_token = رمز الوصول أو مفتاح API غير صالح أو منتهي الصلاحية.
error-token_reused = سبق استخدام رمز التجديد هذا. يرجى تسجيل الدخول مجددًا.
error-too_many_attempts = محاولات كثيرة جدًا. يرجى الانتظار بضع دقائق ثم المحاولة مجددًا.
error-forbidden = ليس لديك إذن للقيام بذلك (يتطلب { $scope }).

## الموارد وقواعد التذاكر

error-not_found = العنصر المطلوب غير موجود.
error-route_not_found = هذا العنوان غير موجود في واجهة API.
error-method_not_allowed = هذه الطريقة غير مسموح بها على هذا العنوان.
error-conflict = هذا العنصر موجود بالفعل.
error-queue_empty = لا توجد تذاكر في الانتظار.
error-queue_closed = قائمة الانتظار هذه لا تقبل تذاكر جديدة حاليًا.
error-illegal_transition = لا يمكن تنفيذ هذا الإجراء في الحالة الحالية للتذكرة.

## صيغة الطلب

error-malformed_json = محتوى الطلب ليس بصيغة JSON صالحة.
error-unsupported_media_type = يجب أن يكون محتوى الطلب بصيغة JSON (Content-Type: application/json).
error-payload_too_large = محتوى الطلب كبير جدًا.
error-invalid_request = يحتوي الطلب على قيمة ناقصة أو غير صالحة.
error-invalid_id = هذا المعرّف غير صالح.
error-request_timeout = استغرق الطلب وقتًا طويلًا جدًا. يرجى المحاولة مجددًا.

## القيم

error-invalid_slug = استخدم من 2 إلى 40 حرفًا لاتينيًا صغيرًا أو رقمًا أو شرطة، دون شرطة في البداية أو النهاية.
error-invalid_phone = أدخل رقم الهاتف بالصيغة الدولية، مثل { "\u200E" }+254712345678.
error-invalid_locale = أدخل رمز لغة مثل en أو fr أو pt-BR.
error-invalid_timezone = أدخل منطقة زمنية مثل Africa/Nairobi.
error-invalid_email = أدخل عنوان بريد إلكتروني صالحًا.
error-invalid_prefix = استخدم من حرف إلى 3 أحرف لاتينية كبيرة، مثل A.
error-invalid_name = أدخل اسمًا من 1 إلى 120 حرفًا.
error-invalid_channel = قناة الاتصال هذه غير مدعومة.
error-invalid_role = هذا الدور غير موجود.
error-invalid_status = حالة التذكرة هذه غير موجودة.
error-invalid_scope = هذه الصلاحية غير موجودة.
error-invalid_queue_status = حالة قائمة الانتظار هي open أو paused أو closed.
error-invalid_agent_status = حالة الموظف هي available أو serving أو paused أو offline.
error-invalid_actor = هذا الفاعل غير صالح.
error-weak_password = يجب أن تتكون كلمة المرور من 8 أحرف على الأقل.
error-site_required = اختر موقعًا: ينتمي الجهاز إلى موقع واحد فقط.
error-scopes_required = اختر صلاحية واحدة على الأقل.
error-invalid_duration = يجب أن تكون المدد أكبر من صفر.
error-invalid_policy = سياسة النداء هذه غير صالحة: يجب أن تكون الأوزان أكبر من صفر.
error-invalid_skill = يجب أن يكون وزن المهارة بين 1 و100.
error-queue_not_served = لا يمكنك النداء من هذا الطابور: فهو في فرع آخر أو ليست لديك مهارة لخدمته.
error-invalid_announcement = أدخل إعلاناً من 1 إلى 280 حرفاً في سطر واحد.
error-invalid_time_window = يجب أن تكون النهاية بعد البداية.

## الخادم

error-internal_error = حدث خطأ من جهتنا. يرجى المحاولة لاحقًا.
error-service_unavailable = الخدمة غير متاحة مؤقتًا. يرجى المحاولة لاحقًا.

## القنوات وخطافات الويب

error-invalid_channel_config = إعدادات القناة غير صالحة لهذا المزود.
error-invalid_ussd = طلب USSD هذا غير صالح.
error-invalid_webhook = محتوى خطاف الويب لا يطابق ما يرسله المزود.
error-missing_signature = خطاف الويب بلا توقيع.
error-malformed_signature = توقيع خطاف الويب غير سليم الصياغة.
error-bad_signature = توقيع خطاف الويب غير مطابق.
error-body_hash_mismatch = محتوى خطاف الويب لا يطابق البصمة الموقعة.
error-messaging_disabled = قنوات المراسلة غير مفعلة على هذا الخادم.
