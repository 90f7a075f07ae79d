# Mensagens de erro da API (português). Fonte: locales/en/errors.ftl.
# Num contexto de filas, "ticket" traduz-se por "senha".

## Autenticação e permissões

error-unauthenticated = Inicie sessão: este pedido requer um token de acesso ou uma chave de API.
error-invalid_credentials = O endereço de e-mail ou a palavra-passe estão incorretos.
error-invalid_token = O token de acesso ou a chave de API é inválido ou expirou.
error-token_reused = Este token de renovação já foi utilizado. Inicie sessão novamente.
error-too_many_attempts = Demasiadas tentativas. Aguarde alguns minutos e tente novamente.
error-forbidden = Não tem permissão para fazer isto (é necessário { $scope }).

## Recursos e regras das senhas

error-not_found = O item pedido não foi encontrado.
error-route_not_found = Este endereço não existe na API.
error-method_not_allowed = Este método não é permitido neste endereço.
error-conflict = Isto já existe.
error-queue_empty = Não há nenhuma senha em espera.
error-queue_closed = Esta fila não está a aceitar novas senhas neste momento.
error-illegal_transition = Esta ação não é possível no estado atual da senha.

## Formato do pedido

error-malformed_json = O corpo do pedido não é JSON válido.
error-unsupported_media_type = O corpo do pedido tem de ser JSON (Content-Type: application/json).
error-payload_too_large = O corpo do pedido é demasiado grande.
error-invalid_request = O pedido contém um valor em falta ou inválido.
error-invalid_id = Este identificador não é válido.
error-request_timeout = O pedido demorou demasiado tempo. Tente novamente.

## Valores

error-invalid_slug = Use de 2 a 40 letras minúsculas, algarismos ou hífenes, sem hífen no início nem no fim.
error-invalid_phone = Introduza o número no formato internacional, por exemplo +254712345678.
error-invalid_locale = Introduza um código de idioma como en, fr ou pt-BR.
error-invalid_timezone = Introduza um fuso horário como Africa/Nairobi.
error-invalid_email = Introduza um endereço de e-mail válido.
error-invalid_prefix = Use 1 a 3 letras maiúsculas, por exemplo A.
error-invalid_name = Introduza um nome com 1 a 120 caracteres.
error-invalid_channel = Este canal não é suportado.
error-invalid_role = Esta função não existe.
error-invalid_status = Este estado de senha não existe.
error-invalid_scope = Esta permissão não existe.
error-invalid_queue_status = O estado de uma fila é open, paused ou closed.
error-invalid_agent_status = O estado de um atendente é available, serving, paused ou offline.
error-invalid_actor = Este ator não é válido.
error-weak_password = A palavra-passe deve ter pelo menos 8 caracteres.
error-site_required = Escolha um local: um dispositivo pertence a um único local.
error-scopes_required = Escolha pelo menos uma permissão.
error-invalid_duration = As durações têm de ser superiores a zero.
error-invalid_policy = Esta política de chamada não é válida: os pesos têm de ser superiores a zero.
error-invalid_skill = O peso de uma competência tem de estar entre 1 e 100.
error-queue_not_served = Não pode chamar desta fila: é de outro local ou não tem competência para o seu serviço.
error-invalid_announcement = Escreva um aviso de 1 a 280 caracteres numa só linha.
error-invalid_time_window = O fim tem de ser depois do início.

## Servidor

error-internal_error = Ocorreu um erro do nosso lado. Tente novamente mais tarde.
error-service_unavailable = O serviço está temporariamente indisponível. Tente novamente mais tarde.

## Canais e webhooks

error-invalid_channel_config = A configuração do canal não é válida para o fornecedor.
error-invalid_ussd = Este pedido USSD não é válido.
error-invalid_webhook = O conteúdo do webhook não corresponde ao que o fornecedor envia.
error-missing_signature = O webhook não tem assinatura.
error-malformed_signature = A assinatura do webhook está mal formada.
error-bad_signature = A assinatura do webhook não corresponde.
error-body_hash_mismatch = O conteúdo do webhook não corresponde ao hash assinado.
error-messaging_disabled = Os canais de mensagens não estão ativos neste servidor.
