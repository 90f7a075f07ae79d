keywords-cancel = cancelar
cancel-confirm = Cancelar a senha { $ticket }? Perderá o seu lugar.
cancel-yes = Sim, cancelar
cancel-no = Não, manter
cancel-done = A senha { $ticket } foi cancelada. Envie MENU para voltar.
cancel-kept = Está bem, mantém a senha { $ticket }.
cancel-too-late = A senha { $ticket } já foi chamada. Dirija-se ao { $counter }.
cancel-none = Não tem senha para cancelar.
