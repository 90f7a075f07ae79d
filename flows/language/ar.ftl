language-prompt = اختر لغتك
language-set = تم. سأكتب إليك بالعربية.
