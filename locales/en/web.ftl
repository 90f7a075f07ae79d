# Web views (English: the source of truth). Translators change the text only, never an id
# or a variable name; sq-i18n's parity test checks every locale has the same ids.

web-skip-to-content = Skip to content
web-language = Language
web-back = Back
web-error-title = Something went wrong
web-error-generic = The request could not be completed.
error-csrf_invalid = This form has expired or was not sent from this site. Reload the page and try again.
error-counter_required = Choose your counter first.
error-platform_login = Platform accounts have no branch pages: sign in with an account of the organisation.

## Staff pages
web-nav-label = Main
web-nav-console = Console
web-nav-supervisor = Supervisor
web-nav-devices = Devices
web-nav-announcements = Announcements
web-logout = Sign out
web-login-title = Staff sign-in
web-login-email = E-mail address
web-login-password = Password
web-login-submit = Sign in

## Agent console
web-console-title = Agent console
web-console-no-agent = Your login has no agent profile, so you cannot call tickets.
web-console-counter = My counter
web-console-use-counter = Use this counter
web-console-my-queues = Queues I serve
web-console-my-queues-hint = Call next and the waiting list use the ticked queues only. Tick none to serve all your queues.
web-console-save-queues = Save my queues
# $counter: the counter's name
web-console-at-counter = At counter { $counter }
web-console-current = Current ticket
web-console-none = No ticket at your counter.
web-console-status = Status
web-console-timer = Service time
web-console-customer = Customer
web-console-language = Language
web-console-channel = Channel
web-console-waiting = Waiting
web-console-nobody = Nobody is waiting.
web-console-figures = My figures today
web-console-served = Served
web-console-average = Average service time
web-console-shortcuts = Keyboard: N call next, R recall, S start, P pause, T transfer, X no-show, C close.
web-action-call-next = Call next
web-action-recall = Recall
web-action-start = Start
web-action-pause = Pause
web-action-pause-reason = Reason
web-action-resume = Resume
web-action-no-show = No-show
web-action-close = Close
web-action-transfer = Transfer
web-action-transfer-to = To queue

## Tables
web-col-number = Number
web-col-queue = Queue
web-col-waited = Waited
web-col-status = Status
web-col-waiting = Waiting
web-col-longest = Longest wait
web-col-sla = Target
web-col-served = Served today
web-col-agent = Agent
web-col-ticket = Ticket

## Supervisor
web-supervisor-title = Supervisor
web-supervisor-queues = Queues
web-supervisor-agents = Agents
web-supervisor-show = Show
web-sla-ok = on target
web-sla-warn = near target
web-sla-breach = over target
web-queue-status-open = Open
web-queue-status-paused = Paused
web-queue-status-closed = Closed
web-agent-status-available = Available
web-agent-status-serving = Serving
web-agent-status-paused = Paused
web-agent-status-offline = Offline

## Devices
web-devices-title = Displays and kiosks
web-devices-new = Pair a device
web-devices-name = Name
web-devices-site = Site
web-devices-kind = Type
web-devices-kind-display = Display screen
web-devices-kind-kiosk = Kiosk
web-devices-pair = Create device key
web-devices-list = Paired devices
web-devices-key = Key
web-devices-active = Active
web-devices-revoked = Revoked
web-devices-revoke = Revoke
# $name: the device's name
web-devices-created = Device { $name } is paired
web-devices-key-once = Open this address on the device. The key is shown only once.

## Announcements (display tickers)
web-ann-title = Display announcements
web-ann-new = Publish an announcement
web-ann-text = Text
web-ann-starts = Show from
web-ann-ends = Show until
# $zone: the site's IANA time zone, e.g. Africa/Nairobi
web-ann-times-hint = Optional. Times are in the site's time zone ({ $zone }); leave both empty to show it from now until you delete it.
web-ann-publish = Publish
web-ann-list = Announcements of this site
web-ann-none = No announcements: the displays show their welcome line.
web-ann-status-active = Showing
web-ann-status-scheduled = Scheduled
web-ann-status-ended = Ended
web-ann-delete = Delete

## Display
web-display-title = Now calling
web-display-now = Now calling
web-display-recent = Recently called
web-display-counter = Counter
# $counter: the counter's name
web-display-at-counter = counter { $counter }
web-display-announcements = Announcements
web-display-enable-sound = Turn sound on
# $site: the site's name
web-display-ticker = Welcome to { $site }. Please keep your ticket ready and watch this screen for your number.
# Spoken on each call. $number: spelled digit by digit ("A 0 1 2"); $counter: counter name.
web-announce = Ticket { $number }, counter { $counter }

## Kiosk and tracker
web-kiosk-title = Take a ticket
web-kiosk-choose = Touch the service you need.
web-kiosk-large-text = Large text
web-kiosk-your-ticket = Your ticket
web-kiosk-whatsapp = Get your turn on WhatsApp
web-kiosk-scan = Scan to follow your place in line
web-kiosk-print = Print ticket
web-kiosk-done = Done
web-ticket-position = Position
web-ticket-eta = Estimated wait
# $min, $max: whole minutes
web-eta-range = { $min }–{ $max } min
web-eta-about = about { $min } min
web-tracker-title = Your ticket
web-tracker-cancel = Cancel my ticket
web-tracker-cancel-confirm = Cancel this ticket? You will lose your place.
web-tracker-cancelled = Your ticket is cancelled.
web-ticket-status-waiting = Waiting
web-ticket-status-called = Called: please go to the counter
web-ticket-status-recalled = Called again: please go to the counter
web-ticket-status-serving = Being served
web-ticket-status-paused = Paused
web-ticket-status-served = Served
web-ticket-status-no_show = Missed
web-ticket-status-transferred = Transferred
web-ticket-status-cancelled = Cancelled
web-channel-whatsapp = WhatsApp
web-channel-sms = SMS
web-channel-ussd = USSD
web-channel-telegram = Telegram
web-channel-kiosk = Kiosk
web-channel-web = Web
web-channel-counter = Counter
