# Messages d'erreur de l'API (français). Source : locales/en/errors.ftl.

## Authentification et autorisations

error-unauthenticated = Veuillez vous connecter : cette requête exige un jeton d’accès ou une clé d’API.
error-invalid_credentials = L’adresse e-mail ou le mot de passe est incorrect.
error-invalid_token = Le jeton d’accès ou la clé d’API est invalide ou a expiré.
error-token_reused = Ce jeton de renouvellement a déjà été utilisé. Veuillez vous reconnecter.
error-too_many_attempts = Trop de tentatives. Veuillez patienter quelques minutes avant de réessayer.
error-forbidden = Vous n’avez pas l’autorisation de faire ceci (il faut { $scope }).

## Ressources et règles des tickets

error-not_found = L’élément demandé est introuvable.
error-route_not_found = Cette adresse n’existe pas dans l’API.
error-method_not_allowed = Cette méthode n’est pas autorisée à cette adresse.
error-conflict = Cet élément existe déjà.
error-queue_empty = Aucun ticket n’est en attente.
error-queue_closed = Cette file n’accepte pas de nouveaux tickets pour le moment.
error-illegal_transition = Cette action est impossible dans l’état actuel du ticket.

## Format de la requête

error-malformed_json = Le corps de la requête n’est pas un JSON valide.
error-unsupported_media_type = Le corps de la requête doit être en JSON (Content-Type: application/json).
error-payload_too_large = Le corps de la requête est trop volumineux.
error-invalid_request = La requête contient une valeur manquante ou invalide.
error-invalid_id = Cet identifiant n’est pas valide.
error-request_timeout = La requête a pris trop de temps. Veuillez réessayer.

## Valeurs

error-invalid_slug = Utilisez de 2 à 40 lettres minuscules, chiffres ou tirets, sans tiret au début ni à la fin.
error-invalid_phone = Saisissez le numéro au format international, par exemple +254712345678.
error-invalid_locale = Saisissez un code de langue comme en, fr ou pt-BR.
error-invalid_timezone = Saisissez un fuseau horaire comme Africa/Nairobi.
error-invalid_email = Saisissez une adresse e-mail valide.
error-invalid_prefix = Utilisez 1 à 3 lettres majuscules, par exemple A.
error-invalid_name = Saisissez un nom de 1 à 120 caractères.
error-invalid_channel = Ce canal n’est pas pris en charge.
error-invalid_role = Ce rôle n’existe pas.
error-invalid_status = Ce statut de ticket n’existe pas.
error-invalid_scope = Cette autorisation n’existe pas.
error-invalid_queue_status = Le statut d’une file est open, paused ou closed.
error-invalid_agent_status = Le statut d’un agent est available, serving, paused ou offline.
error-invalid_actor = Cet acteur n’est pas valide.
error-weak_password = Le mot de passe doit comporter au moins 8 caractères.
error-site_required = Choisissez un site : un appareil appartient à un seul site.
error-scopes_required = Choisissez au moins une autorisation.
error-invalid_duration = Les durées doivent être supérieures à zéro.
error-invalid_policy = Cette politique d’appel n’est pas valide : les poids doivent être supérieurs à zéro.
error-invalid_skill = Le poids d’une compétence doit être compris entre 1 et 100.
error-queue_not_served = Vous ne pouvez pas appeler depuis cette file : elle est dans un autre site ou vous n’avez pas la compétence pour son service.
error-invalid_announcement = Saisissez une annonce de 1 à 280 caractères sur une seule ligne.
error-invalid_time_window = La fin doit être postérieure au début.

## Serveur

error-internal_error = Une erreur s’est produite de notre côté. Veuillez réessayer plus tard.
error-service_unavailable = Le service est momentanément indisponible. Veuillez réessayer plus tard.

## Canaux et webhooks

error-invalid_channel_config = La configuration du canal n’est pas valide pour ce fournisseur.
error-invalid_ussd = Cette requête USSD n’est pas valide.
error-invalid_webhook = Le contenu du webhook ne correspond pas à ce qu’envoie le fournisseur.
error-missing_signature = Le webhook n’a pas de signature.
error-malformed_signature = La signature du webhook est mal formée.
error-bad_signature = La signature du webhook ne correspond pas.
error-body_hash_mismatch = Le contenu du webhook ne correspond pas à son empreinte signée.
error-messaging_disabled = Les canaux de messagerie ne sont pas activés sur ce serveur.
