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
    '(sshd ssh-daemon)
    #:start (make-inetd-constructor
             '("/usr/sbin/sshd" "-D" "-i")
             (list (endpoint
                    (make-socket-address AF_INET INADDR_ANY 22))
                   (endpoint
                    (make-socket-address AF_INET6 IN6ADDR_ANY 22)))
             #:max-connections 10)
    #:stop (make-inetd-destructor)
    #:respawn? #t))

(register-services (list sshd))
(start-in-the-background '(sshd))
