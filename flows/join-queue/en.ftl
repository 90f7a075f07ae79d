keywords-join = join, queue
pick-site = Welcome to { $tenant }. Which branch?
pick-service = Which service do you need?
name-offer = Would you like to give your name, so we can call you?
name-no = No, thanks
ask-name = Please type your name.
ticket-issued = Your ticket is { $ticket } for { $service_label }. { $ahead ->
    [0] You are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  } About { $eta_min }-{ $eta_max } min.
ticket-issued-no-eta = Your ticket is { $ticket } for { $service_label }. { $ahead ->
    [0] You are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  } We will tell you when a counter opens.
already-waiting = You already have ticket { $ticket }. { $ahead ->
    [0] You are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  }
service-closed = Sorry, { $service_label } is closed now. Please try again later.
no-services = Sorry, no service is open right now. Please try again later.
still-there = Are you still there? Do you want to continue?
