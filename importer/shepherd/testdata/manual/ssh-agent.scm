;; From the GNU Shepherd manual, section "4.8 Managing User Services"
;; (https://www.gnu.org/software/shepherd/manual/html_node/Managing-User-Services.html,
;; doc/shepherd.texi of GNU Shepherd 0.10), unchanged (Texinfo's @{ @} written as { }).
;;
;; Copyright (C) 2002, 2003 Wolfgang Jährling; 2013-2023 Ludovic Courtès;
;; 2020 Brice Waegeneire; 2020 Oleg Pykhalov; 2020, 2023 Jan (janneke)
;; Nieuwenhuizen. Permission is granted to copy, distribute and/or modify
;; this document under the terms of the GNU Free Documentation License,
;; Version 1.3 or any later version published by the Free Software
;; Foundation; with no Invariant Sections, no Front-Cover Texts, and no
;; Back-Cover Texts.

;; Add to your ~/.bash_profile:
;;
;; SSH_AUTH_SOCK=${XDG_RUNTIME_DIR-$HOME/.cache}/ssh-agent/socket
;; export SSH_AUTH_SOCK

(use-modules (shepherd support))

(define ssh-agent
  (service
    '(ssh-agent)
    #:documentation "Run `ssh-agent'"
    #:start (lambda ()
              (let ((socket-dir (string-append %user-runtime-dir "/ssh-agent")))
                (unless (file-exists? socket-dir)
                  (mkdir-p socket-dir)
                  (chmod socket-dir #o700))
                (fork+exec-command
                 `("ssh-agent" "-D" "-a" ,(string-append socket-dir "/socket"))
                 #:log-file (string-append %user-log-dir "/ssh-agent.log"))))
    #:stop (make-kill-destructor)
    #:respawn? #t))

(register-services (list ssh-agent))
(start-service ssh-agent)
