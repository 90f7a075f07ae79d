keywords-cancel = annuler
cancel-confirm = Annuler le ticket { $ticket } ? Vous perdrez votre place.
cancel-yes = Oui, annuler
cancel-no = Non, le garder
cancel-done = Le ticket { $ticket } est annulé. Envoyez MENU pour revenir.
cancel-kept = D'accord, vous gardez le ticket { $ticket }.
cancel-too-late = Le ticket { $ticket } a déjà été appelé. Allez au { $counter }.
cancel-none = Vous n'avez pas de ticket à annuler.
