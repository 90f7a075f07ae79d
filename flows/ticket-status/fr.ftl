keywords-position = position, mon tour
status-waiting = Ticket { $ticket } : { $ahead ->
    [0] vous êtes le prochain.
    [one] 1 personne avant vous.
   *[other] { $ahead } personnes avant vous.
  } Environ { $eta_min }-{ $eta_max } min.
status-waiting-no-eta = Ticket { $ticket } : { $ahead ->
    [0] vous êtes le prochain.
    [one] 1 personne avant vous.
   *[other] { $ahead } personnes avant vous.
  } Pas encore d'estimation.
status-called = Ticket { $ticket } : c'est votre tour. Allez au { $counter }.
status-none = Vous n'avez pas de ticket. Envoyez MENU pour rejoindre une file.
