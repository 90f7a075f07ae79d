language-prompt = Choose your language
language-set = Done. I will write to you in English.
