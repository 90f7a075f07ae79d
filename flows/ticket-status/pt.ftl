keywords-position = posição, minha vez
status-waiting = Senha { $ticket }: { $ahead ->
    [0] é o próximo.
    [one] 1 pessoa à sua frente.
   *[other] { $ahead } pessoas à sua frente.
  } Cerca de { $eta_min }-{ $eta_max } min.
status-waiting-no-eta = Senha { $ticket }: { $ahead ->
    [0] é o próximo.
    [one] 1 pessoa à sua frente.
   *[other] { $ahead } pessoas à sua frente.
  } Ainda sem estimativa.
status-called = Senha { $ticket }: é a sua vez. Dirija-se ao { $counter }.
status-none = Não tem senha agora. Envie MENU para entrar numa fila.
