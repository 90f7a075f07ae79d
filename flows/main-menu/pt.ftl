keywords-hi = olá, oi, bom dia
menu-prompt = Bem-vindo ao { $tenant }. O que deseja fazer?
menu-join = Entrar numa fila
menu-status = Minha senha
menu-cancel = Cancelar minha senha
menu-language = Mudar idioma
menu-help = Ajuda
menu-help-text = Envie MENU para voltar, ESTADO para a senha, IDIOMA para o idioma, PARAR para sair.
