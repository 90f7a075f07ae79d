keywords-hi = hi, hello, hey
menu-prompt = Welcome to { $tenant }. What would you like to do?
menu-join = Join a queue
menu-status = My ticket
menu-cancel = Cancel my ticket
menu-language = Change language
menu-help = Help
menu-help-text = Send MENU to come back here, STATUS for your ticket, LANG to change language, STOP to stop messages.
