# Messages shared by the starter flows (a fallback layer between a flow's own messages and
# the system strings in locales/). Keep SMS text in GSM-7: no curly quotes or en dashes.
invalid-choice = Sorry, I didn't get that. Please pick one of the options.
invalid-input = Sorry, that doesn't look right. Please try again.
choice-yes = Yes
choice-no = No
goodbye = Thank you. Goodbye!
# Navigation of long choice lists (the choice ladder). The SMS hints must name 9 and 0.
nav-more = More
nav-back = Back
nav-sms-more = Reply 9 for more
nav-sms-back = Reply 0 to go back
nav-list-button = Choose

# Sent by the host, not by a flow step: consent confirmations and queue notifications.
opted-out = You will get no more messages from us. Send START to receive them again.
opted-in = Welcome back: you will receive our messages again. Send STOP to stop them.
notify-called = Ticket { $ticket }: it is your turn. Please go to counter { $counter }.
notify-recalled = Ticket { $ticket }: we are still waiting for you at counter { $counter }.
notify-no-show = Ticket { $ticket } was closed because we could not find you. Send JOIN to take a new ticket.
notify-transferred = You have been moved to { $service }. Your new ticket is { $ticket }.
notify-approaching = Ticket { $ticket }: your turn is near. { $ahead ->
    [0] You are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  } Please come to the branch.
ussd-resume =
    Continue where you left off?
    1. Continue
    2. Start again
notify-position = Ticket { $ticket }: { $ahead ->
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  }
notify-following = You will get news of ticket { $ticket } here. { $ahead ->
    [0] You are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  }
