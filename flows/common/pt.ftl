invalid-choice = Desculpe, não entendi. Escolha uma das opções.
invalid-input = Desculpe, isso não está certo. Tente novamente.
choice-yes = Sim
choice-no = Não
goodbye = Obrigado. Até logo!
nav-more = Mais
nav-back = Voltar
nav-sms-more = Responda 9 para mais
nav-sms-back = Responda 0 para voltar
nav-list-button = Escolher

# Enviadas pelo sistema: confirmações de consentimento e notificações da fila.
opted-out = Não receberá mais mensagens nossas. Envie START para voltar a recebê-las.
opted-in = Bem-vindo de volta: voltará a receber as nossas mensagens. Envie STOP para parar.
notify-called = Senha { $ticket }: é a sua vez. Dirija-se ao balcão { $counter }.
notify-recalled = Senha { $ticket }: continuamos à sua espera no balcão { $counter }.
notify-no-show = A senha { $ticket } foi encerrada porque não o encontrámos. Envie JOIN para uma nova senha.
notify-transferred = Foi transferido para { $service }. A sua nova senha é { $ticket }.
notify-approaching = Senha { $ticket }: a sua vez está próxima. { $ahead ->
    [0] Vai ser chamado a seguir.
    [one] 1 pessoa está à sua frente.
   *[other] { $ahead } pessoas estão à sua frente.
  } Venha até à agência.
ussd-resume =
    Continuar onde parou?
    1. Continuar
    2. Reiniciar
notify-position = Senha { $ticket }: { $ahead ->
    [one] 1 pessoa está à sua frente.
   *[other] { $ahead } pessoas estão à sua frente.
  }
notify-following = Receberá aqui as notícias da senha { $ticket }. { $ahead ->
    [0] Vai ser chamado a seguir.
    [one] 1 pessoa está à sua frente.
   *[other] { $ahead } pessoas estão à sua frente.
  }
