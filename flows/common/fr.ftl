invalid-choice = Désolé, je n'ai pas compris. Choisissez une des options.
invalid-input = Désolé, ce n'est pas valide. Veuillez réessayer.
choice-yes = Oui
choice-no = Non
goodbye = Merci. Au revoir !
nav-more = Suite
nav-back = Retour
nav-sms-more = Répondez 9 pour la suite
nav-sms-back = Répondez 0 pour revenir
nav-list-button = Choisir

# Envoyés par l'hôte : confirmations de consentement et notifications de file.
opted-out = Vous ne recevrez plus de messages de notre part. Envoyez START pour les recevoir à nouveau.
opted-in = Bon retour : vous recevrez à nouveau nos messages. Envoyez STOP pour ne plus les recevoir.
notify-called = Ticket { $ticket } : c'est votre tour. Veuillez vous rendre au guichet { $counter }.
notify-recalled = Ticket { $ticket } : nous vous attendons toujours au guichet { $counter }.
notify-no-show = Le ticket { $ticket } a été fermé car nous ne vous avons pas trouvé. Envoyez JOIN pour un nouveau ticket.
notify-transferred = Vous avez été transféré vers { $service }. Votre nouveau ticket est { $ticket }.
notify-approaching = Ticket { $ticket } : votre tour approche. { $ahead ->
    [0] Vous serez appelé juste après.
    [one] 1 personne est devant vous.
   *[other] { $ahead } personnes sont devant vous.
  } Merci de venir à l'agence.
ussd-resume =
    Reprendre là où vous en étiez ?
    1. Reprendre
    2. Recommencer
notify-position = Ticket { $ticket } : { $ahead ->
    [one] 1 personne est devant vous.
   *[other] { $ahead } personnes sont devant vous.
  }
notify-following = Vous recevrez ici les nouvelles du ticket { $ticket }. { $ahead ->
    [0] Vous serez appelé juste après.
    [one] 1 personne est devant vous.
   *[other] { $ahead } personnes sont devant vous.
  }
