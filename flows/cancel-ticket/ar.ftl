keywords-cancel = إلغاء
cancel-confirm = إلغاء التذكرة { $ticket }؟ ستفقد دورك.
cancel-yes = نعم، ألغها
cancel-no = لا، احتفظ بها
cancel-done = أُلغيت التذكرة { $ticket }.
cancel-kept = حسنًا، احتفظت بالتذكرة { $ticket }.
cancel-too-late = نودي على التذكرة { $ticket }. توجه إلى { $counter }.
cancel-none = ليست لديك تذكرة لإلغائها.
