language-prompt = Escolha o seu idioma
language-set = Feito. Vou escrever-lhe em português.
