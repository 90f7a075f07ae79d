# Web views (Portuguese). Translated from en/web.ftl, the source of truth: same ids and
# variables (checked by sq-i18n's parity test).

web-skip-to-content = Ir para o conteúdo
web-language = Idioma
web-back = Voltar
web-error-title = Algo correu mal
web-error-generic = Não foi possível concluir o pedido.
error-csrf_invalid = Este formulário expirou ou não foi enviado a partir deste site. Recarregue a página e tente novamente.
error-counter_required = Escolha primeiro o seu balcão.
error-platform_login = As contas da plataforma não têm páginas de balcão: entre com uma conta da organização.

## Staff pages
web-nav-label = Principal
web-nav-console = Consola
web-nav-supervisor = Supervisão
web-nav-devices = Dispositivos
web-nav-announcements = Avisos
web-logout = Terminar sessão
web-login-title = Entrada do pessoal
web-login-email = Endereço de e-mail
web-login-password = Palavra-passe
web-login-submit = Entrar

## Agent console
web-console-title = Consola do atendente
web-console-no-agent = A sua conta não tem perfil de atendente, por isso não pode chamar senhas.
web-console-counter = O meu balcão
web-console-use-counter = Usar este balcão
web-console-my-queues = Filas que atendo
web-console-my-queues-hint = «Chamar seguinte» e a lista de espera usam apenas as filas marcadas. Não marque nenhuma para atender todas as suas filas.
web-console-save-queues = Guardar as minhas filas
# $counter: the counter's name
web-console-at-counter = No balcão { $counter }
web-console-current = Senha atual
web-console-none = Nenhuma senha no seu balcão.
web-console-status = Estado
web-console-timer = Tempo de atendimento
web-console-customer = Cliente
web-console-language = Idioma
web-console-channel = Canal
web-console-waiting = Em espera
web-console-nobody = Ninguém está à espera.
web-console-figures = Os meus números de hoje
web-console-served = Atendidos
web-console-average = Tempo médio de atendimento
web-console-shortcuts = Teclado: N chamar seguinte, R rechamar, S iniciar, P pausa, T transferir, X não compareceu, C fechar.
web-action-call-next = Chamar seguinte
web-action-recall = Rechamar
web-action-start = Iniciar
web-action-pause = Pausa
web-action-pause-reason = Motivo
web-action-resume = Retomar
web-action-no-show = Não compareceu
web-action-close = Fechar
web-action-transfer = Transferir
web-action-transfer-to = Para a fila

## Tables
web-col-number = Número
web-col-queue = Fila
web-col-waited = Espera
web-col-status = Estado
web-col-waiting = Em espera
web-col-longest = Maior espera
web-col-sla = Objetivo
web-col-served = Atendidos hoje
web-col-agent = Atendente
web-col-ticket = Senha

## Supervisor
web-supervisor-title = Supervisão
web-supervisor-queues = Filas
web-supervisor-agents = Atendentes
web-supervisor-show = Mostrar
web-sla-ok = dentro do objetivo
web-sla-warn = perto do objetivo
web-sla-breach = acima do objetivo
web-queue-status-open = Aberta
web-queue-status-paused = Em pausa
web-queue-status-closed = Fechada
web-agent-status-available = Disponível
web-agent-status-serving = A atender
web-agent-status-paused = Em pausa
web-agent-status-offline = Offline

## Devices
web-devices-title = Ecrãs e quiosques
web-devices-new = Emparelhar um dispositivo
web-devices-name = Nome
web-devices-site = Balcão/agência
web-devices-kind = Tipo
web-devices-kind-display = Ecrã de chamada
web-devices-kind-kiosk = Quiosque
web-devices-pair = Criar chave do dispositivo
web-devices-list = Dispositivos emparelhados
web-devices-key = Chave
web-devices-active = Ativo
web-devices-revoked = Revogado
web-devices-revoke = Revogar
# $name: the device's name
web-devices-created = O dispositivo { $name } está emparelhado
web-devices-key-once = Abra este endereço no dispositivo. A chave só é mostrada uma vez.

## Announcements (display tickers)
web-ann-title = Avisos dos ecrãs
web-ann-new = Publicar um aviso
web-ann-text = Texto
web-ann-starts = Mostrar a partir de
web-ann-ends = Mostrar até
web-ann-times-hint = Opcional. As horas estão no fuso horário do local ({ $zone }); deixe ambos vazios para o mostrar a partir de agora até o apagar.
web-ann-publish = Publicar
web-ann-list = Avisos deste local
web-ann-none = Sem avisos: os ecrãs mostram a mensagem de boas-vindas.
web-ann-status-active = Em exibição
web-ann-status-scheduled = Agendado
web-ann-status-ended = Terminado
web-ann-delete = Apagar

## Display
web-display-title = A chamar
web-display-now = A chamar
web-display-recent = Chamados recentemente
web-display-counter = Balcão
# $counter: the counter's name
web-display-at-counter = balcão { $counter }
web-display-announcements = Avisos
web-display-enable-sound = Ligar o som
# $site: the site's name
web-display-ticker = Bem-vindo a { $site }. Tenha a sua senha à mão e acompanhe este ecrã.
# Spoken on each call. $number: spelled digit by digit ("A 0 1 2"); $counter: counter name.
web-announce = Senha { $number }, balcão { $counter }

## Kiosk and tracker
web-kiosk-title = Tirar senha
web-kiosk-choose = Toque no serviço de que precisa.
web-kiosk-large-text = Letra grande
web-kiosk-your-ticket = A sua senha
web-kiosk-whatsapp = Acompanhar a minha vez no WhatsApp
web-kiosk-scan = Leia o código para seguir o seu lugar
web-kiosk-print = Imprimir senha
web-kiosk-done = Concluído
web-ticket-position = Posição
web-ticket-eta = Espera estimada
# $min, $max: whole minutes
web-eta-range = { $min }–{ $max } min
web-eta-about = cerca de { $min } min
web-tracker-title = A sua senha
web-tracker-cancel = Cancelar a minha senha
web-tracker-cancel-confirm = Cancelar esta senha? Perderá o seu lugar.
web-tracker-cancelled = A sua senha foi cancelada.
web-ticket-status-waiting = Em espera
web-ticket-status-called = Chamada: dirija-se ao balcão
web-ticket-status-recalled = Chamada de novo: dirija-se ao balcão
web-ticket-status-serving = Em atendimento
web-ticket-status-paused = Em pausa
web-ticket-status-served = Atendida
web-ticket-status-no_show = Não compareceu
web-ticket-status-transferred = Transferida
web-ticket-status-cancelled = Cancelada
web-channel-whatsapp = WhatsApp
web-channel-sms = SMS
web-channel-ussd = USSD
web-channel-telegram = Telegram
web-channel-kiosk = Quiosque
web-channel-web = Web
web-channel-counter = Balcão
