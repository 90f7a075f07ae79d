keywords-hi = مرحبا, السلام عليكم
menu-prompt = أهلًا بك في { $tenant }. ماذا تريد؟
menu-join = الانضمام لطابور
menu-status = تذكرتي
menu-cancel = إلغاء تذكرتي
menu-language = تغيير اللغة
menu-help = مساعدة
menu-help-text = أرسل قائمة للعودة، حالة لتذكرتك، لغة للغة، توقف لإيقاف الرسائل.
