keywords-join = rejoindre, file
pick-site = Bienvenue chez { $tenant }. Quelle agence ?
pick-service = De quel service avez-vous besoin ?
name-offer = Voulez-vous donner votre nom pour que l'on vous appelle ?
name-no = Non merci
ask-name = Tapez votre nom.
ticket-issued = Votre ticket est { $ticket } pour { $service_label }. { $ahead ->
    [0] Vous passez au prochain appel.
    [one] 1 personne avant vous.
   *[other] { $ahead } personnes avant vous.
  } Environ { $eta_min }-{ $eta_max } min.
ticket-issued-no-eta = Votre ticket est { $ticket } pour { $service_label }. { $ahead ->
    [0] Vous passez au prochain appel.
    [one] 1 personne avant vous.
   *[other] { $ahead } personnes avant vous.
  } Nous vous dirons quand un guichet ouvre.
already-waiting = Vous avez déjà le ticket { $ticket }. { $ahead ->
    [0] Vous passez au prochain appel.
    [one] 1 personne avant vous.
   *[other] { $ahead } personnes avant vous.
  }
service-closed = Désolé, { $service_label } est fermé. Réessayez plus tard.
no-services = Désolé, aucun service n'est ouvert. Réessayez plus tard.
still-there = Êtes-vous toujours là ? Voulez-vous continuer ?
