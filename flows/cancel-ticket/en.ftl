keywords-cancel = cancel
cancel-confirm = Cancel ticket { $ticket }? You will lose your place in the queue.
cancel-yes = Yes, cancel it
cancel-no = No, keep it
cancel-done = Ticket { $ticket } is cancelled. Send MENU to join again.
cancel-kept = OK, you keep ticket { $ticket }.
cancel-too-late = Ticket { $ticket } has already been called. Please go to { $counter }.
cancel-none = You have no ticket to cancel.
