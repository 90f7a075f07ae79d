keywords-position = position, my turn
status-waiting = Ticket { $ticket }: { $ahead ->
    [0] you are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  } About { $eta_min }-{ $eta_max } min.
status-waiting-no-eta = Ticket { $ticket }: { $ahead ->
    [0] you are next.
    [one] 1 person is ahead of you.
   *[other] { $ahead } people are ahead of you.
  } No estimate yet.
status-called = Ticket { $ticket }: it is your turn. Please go to { $counter }.
status-none = You have no ticket right now. Send MENU to join a queue.
