;; From the GNU Shepherd manual, section "4.7 Service Examples"
;; (https://www.gnu.org/software/shepherd/manual/html_node/Service-Examples.html,
;; doc/shepherd.texi of GNU Shepherd 0.10), unchanged.
;;
;; Copyright (C) 2002, 2003 Wolfgang Jährling; 2013-2023 Ludovic Courtès;
;; 2020 Brice Waegeneire; 2020 Oleg Pykhalov; 2020, 2023 Jan (janneke)
;; Nieuwenhuizen. Permission is granted to copy, distribute and/or modify
;; this document under the terms of the GNU Free Documentation License,
;; Version 1.3 or any later version published by the Free Software
;; Foundation; with no Invariant Sections, no Front-Cover Texts, and no
;; Back-Cover Texts.

(define sshd
  (service
    '(sshd ssh-daemon)  ;for convenience, give it two names
    #:start (make-forkexec-constructor
             '("/usr/sbin/sshd" "-D")
             #:pid-file "/etc/ssh/sshd.pid")
    #:stop (make-kill-destructor)
    #:respawn? #t))

(register-services (list sshd))
(start-in-the-background '(sshd))
