language-prompt = Chagua lugha yako
language-set = Imekamilika. Nitakuandikia kwa Kiswahili.
