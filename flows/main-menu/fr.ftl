keywords-hi = bonjour, salut
menu-prompt = Bienvenue chez { $tenant }. Que voulez-vous faire ?
menu-join = Rejoindre une file
menu-status = Mon ticket
menu-cancel = Annuler mon ticket
menu-language = Changer de langue
menu-help = Aide
menu-help-text = Envoyez MENU pour revenir ici, STATUT pour votre ticket, LANGUE pour la langue, STOP pour ne plus recevoir de messages.
