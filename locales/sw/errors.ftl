# Ujumbe wa hitilafu za API (Kiswahili). Chanzo: locales/en/errors.ftl.

## Uthibitishaji na ruhusa

error-unauthenticated = Tafadhali ingia: ombi hili linahitaji tokeni ya ufikiaji au ufunguo wa API.
error-invalid_credentials = Barua pepe au nenosiri si sahihi.
error-invalid_token = Tokeni ya ufikiaji au ufunguo wa API si halali au muda wake umekwisha.
error-token_reused = Tokeni hii ya kuhuisha imeshatumika. Tafadhali ingia tena.
error-too_many_attempts = Majaribio mengi mno. Tafadhali subiri dakika chache kisha ujaribu tena.
error-forbidden = Huna ruhusa ya kufanya hivi (inahitaji { $scope }).

## Rasilimali na kanuni za tiketi

error-not_found = Kipengee ulichoomba hakijapatikana.
error-route_not_found = Anwani hii haipo kwenye API.
error-method_not_allowed = Mbinu hii hairuhusiwi kwenye anwani hii.
error-conflict = Hiki tayari kipo.
error-queue_empty = Hakuna tiketi inayosubiri.
error-queue_closed = Foleni hii haipokei tiketi mpya kwa sasa.
error-illegal_transition = Kitendo hiki hakiwezekani katika hali ya sasa ya tiketi.

## Muundo wa ombi

error-malformed_json = Maudhui ya ombi si JSON halali.
error-unsupported_media_type = Maudhui ya ombi lazima yawe JSON (Content-Type: application/json).
error-payload_too_large = Maudhui ya ombi ni makubwa mno.
error-invalid_request = Ombi lina thamani inayokosekana au isiyo halali.
error-invalid_id = Kitambulisho hiki si halali.
error-request_timeout = Ombi limechukua muda mrefu mno. Tafadhali jaribu tena.

## Thamani

error-invalid_slug = Tumia herufi ndogo, tarakimu au vistari 2 hadi 40, bila kistari mwanzoni wala mwishoni.
error-invalid_phone = Weka nambari ya simu katika muundo wa kimataifa, kwa mfano +254712345678.
error-invalid_locale = Weka msimbo wa lugha kama en, fr au pt-BR.
error-invalid_timezone = Weka saa za eneo kama Africa/Nairobi.
error-invalid_email = Weka anwani sahihi ya barua pepe.
error-invalid_prefix = Tumia herufi kubwa 1 hadi 3, kwa mfano A.
error-invalid_name = Weka jina lenye herufi 1 hadi 120.
error-invalid_channel = Njia hii ya mawasiliano haitumiki.
error-invalid_role = Jukumu hili halipo.
error-invalid_status = Hali hii ya tiketi haipo.
error-invalid_scope = Ruhusa hii haipo.
error-invalid_queue_status = Hali ya foleni ni open, paused au closed.
error-invalid_agent_status = Hali ya mhudumu ni available, serving, paused au offline.
error-invalid_actor = Mhusika huyu si halali.
error-weak_password = Nenosiri lazima liwe na angalau herufi 8.
error-site_required = Chagua eneo: kifaa ni cha eneo moja tu.
error-scopes_required = Chagua angalau ruhusa moja.
error-invalid_duration = Muda lazima uwe zaidi ya sifuri.
error-invalid_policy = Sera hii ya kuita si halali: uzito lazima uwe zaidi ya sifuri.
error-invalid_skill = Uzito wa ujuzi lazima uwe kati ya 1 na 100.
error-queue_not_served = Huwezi kuita kutoka foleni hii: iko katika tawi lingine au huna ujuzi wa huduma yake.
error-invalid_announcement = Andika tangazo la herufi 1 hadi 280 katika mstari mmoja.
error-invalid_time_window = Mwisho lazima uwe baada ya mwanzo.

## Seva

error-internal_error = Hitilafu imetokea upande wetu. Tafadhali jaribu tena baadaye.
error-service_unavailable = Huduma haipatikani kwa muda. Tafadhali jaribu tena baadaye.

## Njia za ujumbe na webhooks

error-invalid_channel_config = Mipangilio ya njia hii si sahihi kwa mtoa huduma wake.
error-invalid_ussd = Ombi hili la USSD si sahihi.
error-invalid_webhook = Maudhui ya webhook si yale ambayo mtoa huduma hutuma.
error-missing_signature = Webhook haina sahihi.
error-malformed_signature = Sahihi ya webhook imeharibika.
error-bad_signature = Sahihi ya webhook hailingani.
error-body_hash_mismatch = Maudhui ya webhook hayalingani na alama yake iliyosainiwa.
error-messaging_disabled = Njia za ujumbe hazijawashwa kwenye seva hii.
