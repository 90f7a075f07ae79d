keywords-join = entrar, fila
pick-site = Bem-vindo ao { $tenant }. Escolha o local:
pick-service = De que serviço precisa?
name-offer = Quer dar o seu nome para o chamarmos?
name-no = Não, obrigado
ask-name = Escreva o seu nome.
ticket-issued = A sua senha é { $ticket } para { $service_label }. { $ahead ->
    [0] Vai ser chamado a seguir.
    [one] 1 pessoa à sua frente.
   *[other] { $ahead } pessoas à sua frente.
  } Cerca de { $eta_min }-{ $eta_max } min.
ticket-issued-no-eta = A sua senha é { $ticket } para { $service_label }. { $ahead ->
    [0] Vai ser chamado a seguir.
    [one] 1 pessoa à sua frente.
   *[other] { $ahead } pessoas à sua frente.
  } Avisaremos quando houver atendimento.
already-waiting = Já tem a senha { $ticket }. { $ahead ->
    [0] Vai ser chamado a seguir.
    [one] 1 pessoa à sua frente.
   *[other] { $ahead } pessoas à sua frente.
  }
service-closed = Desculpe, { $service_label } está fechado. Tente mais tarde.
no-services = Desculpe, nenhum serviço está aberto agora. Tente mais tarde.
still-there = Ainda está aí? Quer continuar?
