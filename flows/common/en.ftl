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
