# Web views (French). Translated from en/web.ftl, the source of truth: same ids and
# variables (checked by sq-i18n's parity test).

web-skip-to-content = Aller au contenu
web-language = Langue
web-back = Retour
web-error-title = Un problème est survenu
web-error-generic = La demande n’a pas pu aboutir.
error-csrf_invalid = Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et réessayez.
error-counter_required = Choisissez d’abord votre guichet.
error-platform_login = Les comptes de plateforme n’ont pas de pages d’agence : connectez-vous avec un compte de l’organisation.

## Staff pages
web-nav-label = Principal
web-nav-console = Console
web-nav-supervisor = Supervision
web-nav-devices = Appareils
web-nav-announcements = Annonces
web-logout = Se déconnecter
web-login-title = Connexion du personnel
web-login-email = Adresse e-mail
web-login-password = Mot de passe
web-login-submit = Se connecter

## Agent console
web-console-title = Console agent
web-console-no-agent = Votre compte n’a pas de profil agent : vous ne pouvez pas appeler de tickets.
web-console-counter = Mon guichet
web-console-use-counter = Utiliser ce guichet
web-console-my-queues = Files que je sers
web-console-my-queues-hint = « Appeler le suivant » et la liste d’attente n’utilisent que les files cochées. Ne cochez rien pour servir toutes vos files.
web-console-save-queues = Enregistrer mes files
# $counter: the counter's name
web-console-at-counter = Au guichet { $counter }
web-console-current = Ticket en cours
web-console-none = Aucun ticket à votre guichet.
web-console-status = État
web-console-timer = Durée du service
web-console-customer = Client
web-console-language = Langue
web-console-channel = Canal
web-console-waiting = En attente
web-console-nobody = Personne n’attend.
web-console-figures = Mes chiffres du jour
web-console-served = Servis
web-console-average = Durée moyenne de service
web-console-shortcuts = Clavier : N appeler le suivant, R rappeler, S commencer, P pause, T transférer, X absent, C clôturer.
web-action-call-next = Appeler le suivant
web-action-recall = Rappeler
web-action-start = Commencer
web-action-pause = Pause
web-action-pause-reason = Motif
web-action-resume = Reprendre
web-action-no-show = Absent
web-action-close = Clôturer
web-action-transfer = Transférer
web-action-transfer-to = Vers la file

## Tables
web-col-number = Numéro
web-col-queue = File
web-col-waited = Attente
web-col-status = État
web-col-waiting = En attente
web-col-longest = Plus longue attente
web-col-sla = Objectif
web-col-served = Servis aujourd’hui
web-col-agent = Agent
web-col-ticket = Ticket

## Supervisor
web-supervisor-title = Supervision
web-supervisor-queues = Files
web-supervisor-agents = Agents
web-supervisor-show = Afficher
web-sla-ok = dans l’objectif
web-sla-warn = proche de l’objectif
web-sla-breach = objectif dépassé
web-queue-status-open = Ouverte
web-queue-status-paused = En pause
web-queue-status-closed = Fermée
web-agent-status-available = Disponible
web-agent-status-serving = En service
web-agent-status-paused = En pause
web-agent-status-offline = Hors ligne

## Devices
web-devices-title = Écrans et bornes
web-devices-new = Associer un appareil
web-devices-name = Nom
web-devices-site = Site
web-devices-kind = Type
web-devices-kind-display = Écran d’affichage
web-devices-kind-kiosk = Borne
web-devices-pair = Créer la clé de l’appareil
web-devices-list = Appareils associés
web-devices-key = Clé
web-devices-active = Actif
web-devices-revoked = Révoqué
web-devices-revoke = Révoquer
# $name: the device's name
web-devices-created = L’appareil { $name } est associé
web-devices-key-once = Ouvrez cette adresse sur l’appareil. La clé n’est affichée qu’une fois.

## Announcements (display tickers)
web-ann-title = Annonces des écrans
web-ann-new = Publier une annonce
web-ann-text = Texte
web-ann-starts = Afficher à partir de
web-ann-ends = Afficher jusqu’à
web-ann-times-hint = Facultatif. Les heures sont dans le fuseau du site ({ $zone }) ; laissez les deux vides pour l’afficher dès maintenant et jusqu’à sa suppression.
web-ann-publish = Publier
web-ann-list = Annonces de ce site
web-ann-none = Aucune annonce : les écrans affichent leur message d’accueil.
web-ann-status-active = Affichée
web-ann-status-scheduled = Programmée
web-ann-status-ended = Terminée
web-ann-delete = Supprimer

## Display
web-display-title = Appel en cours
web-display-now = Appel en cours
web-display-recent = Derniers appels
web-display-counter = Guichet
# $counter: the counter's name
web-display-at-counter = guichet { $counter }
web-display-announcements = Annonces
web-display-enable-sound = Activer le son
# $site: the site's name
web-display-ticker = Bienvenue à { $site }. Gardez votre ticket à portée de main et surveillez cet écran.
# Spoken on each call. $number: spelled digit by digit ("A 0 1 2"); $counter: counter name.
web-announce = Ticket { $number }, guichet { $counter }

## Kiosk and tracker
web-kiosk-title = Prendre un ticket
web-kiosk-choose = Touchez le service souhaité.
web-kiosk-large-text = Grands caractères
web-kiosk-your-ticket = Votre ticket
web-kiosk-whatsapp = Suivre mon tour sur WhatsApp
web-kiosk-scan = Scannez pour suivre votre place
web-kiosk-print = Imprimer le ticket
web-kiosk-done = Terminé
web-ticket-position = Position
web-ticket-eta = Attente estimée
# $min, $max: whole minutes
web-eta-range = { $min } à { $max } min
web-eta-about = environ { $min } min
web-tracker-title = Votre ticket
web-tracker-cancel = Annuler mon ticket
web-tracker-cancel-confirm = Annuler ce ticket ? Vous perdrez votre place.
web-tracker-cancelled = Votre ticket est annulé.
web-ticket-status-waiting = En attente
web-ticket-status-called = Appelé : rendez-vous au guichet
web-ticket-status-recalled = Rappelé : rendez-vous au guichet
web-ticket-status-serving = En cours de service
web-ticket-status-paused = En pause
web-ticket-status-served = Servi
web-ticket-status-no_show = Absent
web-ticket-status-transferred = Transféré
web-ticket-status-cancelled = Annulé
web-channel-whatsapp = WhatsApp
web-channel-sms = SMS
web-channel-ussd = USSD
web-channel-telegram = Telegram
web-channel-kiosk = Borne
web-channel-web = Web
web-channel-counter = Guichet
