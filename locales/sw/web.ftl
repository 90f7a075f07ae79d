# Web views (Swahili). Translated from en/web.ftl, the source of truth: same ids and
# variables (checked by sq-i18n's parity test).

web-skip-to-content = Ruka hadi maudhui
web-language = Lugha
web-back = Rudi
web-error-title = Kuna hitilafu
web-error-generic = Ombi halikuweza kukamilika.
error-csrf_invalid = Fomu hii imeisha muda au haikutumwa kutoka tovuti hii. Pakia ukurasa upya ujaribu tena.
error-counter_required = Chagua dirisha lako kwanza.
error-platform_login = Akaunti za jukwaa hazina kurasa za tawi: ingia kwa akaunti ya shirika.

## Staff pages
web-nav-label = Kuu
web-nav-console = Dashibodi
web-nav-supervisor = Msimamizi
web-nav-devices = Vifaa
web-nav-announcements = Matangazo
web-logout = Toka
web-login-title = Kuingia kwa wafanyakazi
web-login-email = Barua pepe
web-login-password = Nenosiri
web-login-submit = Ingia

## Agent console
web-console-title = Dashibodi ya mhudumu
web-console-no-agent = Akaunti yako haina wasifu wa mhudumu, kwa hiyo huwezi kuita tiketi.
web-console-counter = Dirisha langu
web-console-use-counter = Tumia dirisha hili
web-console-my-queues = Foleni ninazohudumia
web-console-my-queues-hint = «Ita anayefuata» na orodha ya wanaosubiri hutumia foleni zilizochaguliwa tu. Usichague yoyote ili kuhudumia foleni zako zote.
web-console-save-queues = Hifadhi foleni zangu
# $counter: the counter's name
web-console-at-counter = Dirisha { $counter }
web-console-current = Tiketi ya sasa
web-console-none = Hakuna tiketi kwenye dirisha lako.
web-console-status = Hali
web-console-timer = Muda wa huduma
web-console-customer = Mteja
web-console-language = Lugha
web-console-channel = Njia
web-console-waiting = Wanaosubiri
web-console-nobody = Hakuna anayesubiri.
web-console-figures = Takwimu zangu leo
web-console-served = Waliohudumiwa
web-console-average = Wastani wa muda wa huduma
web-console-shortcuts = Kibodi: N ita anayefuata, R ita tena, S anza, P simamisha, T hamisha, X hakufika, C funga.
web-action-call-next = Ita anayefuata
web-action-recall = Ita tena
web-action-start = Anza
web-action-pause = Simamisha
web-action-pause-reason = Sababu
web-action-resume = Endelea
web-action-no-show = Hakufika
web-action-close = Funga
web-action-transfer = Hamisha
web-action-transfer-to = Kwenda foleni

## Tables
web-col-number = Namba
web-col-queue = Foleni
web-col-waited = Amesubiri
web-col-status = Hali
web-col-waiting = Wanaosubiri
web-col-longest = Usubiri mrefu zaidi
web-col-sla = Lengo
web-col-served = Waliohudumiwa leo
web-col-agent = Mhudumu
web-col-ticket = Tiketi

## Supervisor
web-supervisor-title = Msimamizi
web-supervisor-queues = Foleni
web-supervisor-agents = Wahudumu
web-supervisor-show = Onyesha
web-sla-ok = ndani ya lengo
web-sla-warn = karibu na lengo
web-sla-breach = zaidi ya lengo
web-queue-status-open = Wazi
web-queue-status-paused = Imesimamishwa
web-queue-status-closed = Imefungwa
web-agent-status-available = Yupo
web-agent-status-serving = Anahudumia
web-agent-status-paused = Amesimama
web-agent-status-offline = Hayupo

## Devices
web-devices-title = Skrini na vibanda
web-devices-new = Unganisha kifaa
web-devices-name = Jina
web-devices-site = Tawi
web-devices-kind = Aina
web-devices-kind-display = Skrini ya maonyesho
web-devices-kind-kiosk = Kibanda
web-devices-pair = Tengeneza ufunguo wa kifaa
web-devices-list = Vifaa vilivyounganishwa
web-devices-key = Ufunguo
web-devices-active = Hai
web-devices-revoked = Imebatilishwa
web-devices-revoke = Batilisha
# $name: the device's name
web-devices-created = Kifaa { $name } kimeunganishwa
web-devices-key-once = Fungua anwani hii kwenye kifaa. Ufunguo unaonyeshwa mara moja tu.

## Announcements (display tickers)
web-ann-title = Matangazo ya skrini
web-ann-new = Chapisha tangazo
web-ann-text = Maandishi
web-ann-starts = Onyesha kuanzia
web-ann-ends = Onyesha hadi
web-ann-times-hint = Si lazima. Saa ni za saa za eneo la tawi ({ $zone }); acha zote mbili wazi ili lionyeshwe kuanzia sasa hadi utakapolifuta.
web-ann-publish = Chapisha
web-ann-list = Matangazo ya tawi hili
web-ann-none = Hakuna matangazo: skrini zinaonyesha ujumbe wa kukaribisha.
web-ann-status-active = Linaonyeshwa
web-ann-status-scheduled = Limepangwa
web-ann-status-ended = Limeisha
web-ann-delete = Futa

## Display
web-display-title = Wanaoitwa sasa
web-display-now = Wanaoitwa sasa
web-display-recent = Walioitwa karibuni
web-display-counter = Dirisha
# $counter: the counter's name
web-display-at-counter = dirisha { $counter }
web-display-announcements = Matangazo
web-display-enable-sound = Washa sauti
# $site: the site's name
web-display-ticker = Karibu { $site }. Tafadhali weka tiketi yako tayari na tazama skrini hii.
# Spoken on each call. $number: spelled digit by digit ("A 0 1 2"); $counter: counter name.
web-announce = Tiketi { $number }, dirisha { $counter }

## Kiosk and tracker
web-kiosk-title = Chukua tiketi
web-kiosk-choose = Gusa huduma unayohitaji.
web-kiosk-large-text = Herufi kubwa
web-kiosk-your-ticket = Tiketi yako
web-kiosk-whatsapp = Pata zamu yako kwenye WhatsApp
web-kiosk-scan = Changanua kufuatilia nafasi yako
web-kiosk-print = Chapisha tiketi
web-kiosk-done = Maliza
web-ticket-position = Nafasi
web-ticket-eta = Muda unaokadiriwa
# $min, $max: whole minutes
web-eta-range = dakika { $min }–{ $max }
web-eta-about = takriban dakika { $min }
web-tracker-title = Tiketi yako
web-tracker-cancel = Ghairi tiketi yangu
web-tracker-cancel-confirm = Ghairi tiketi hii? Utapoteza nafasi yako.
web-tracker-cancelled = Tiketi yako imeghairiwa.
web-ticket-status-waiting = Inasubiri
web-ticket-status-called = Umeitwa: tafadhali nenda dirishani
web-ticket-status-recalled = Umeitwa tena: tafadhali nenda dirishani
web-ticket-status-serving = Unahudumiwa
web-ticket-status-paused = Imesimamishwa
web-ticket-status-served = Umehudumiwa
web-ticket-status-no_show = Hukufika
web-ticket-status-transferred = Imehamishwa
web-ticket-status-cancelled = Imeghairiwa
web-channel-whatsapp = WhatsApp
web-channel-sms = SMS
web-channel-ussd = USSD
web-channel-telegram = Telegram
web-channel-kiosk = Kibanda
web-channel-web = Wavuti
web-channel-counter = Dirisha
