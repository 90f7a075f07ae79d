language-prompt = Choisissez votre langue
language-set = C'est fait. Je vous écrirai en français.
