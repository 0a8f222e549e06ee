;; From the GNU Shepherd manual, section "4.8 Managing User Services"
;; (https://www.gnu.org/software/shepherd/manual/html_node/Managing-User-Services.html,
;; doc/shepherd.texi of GNU Shepherd 0.10), unchanged.
;;
;; Copyright (C) 2002, 2003 Wolfgang Jährling; 2013-2023 Ludovic Courtès;
;; 2020 Brice Waegeneire; 2020 Oleg Pykhalov; 2020, 2023 Jan (janneke)
;; Nieuwenhuizen. Permission is granted to copy, distribute and/or modify
;; this document under the terms of the GNU Free Documentation License,
;; Version 1.3 or any later version published by the Free Software
;; Foundation; with no Invariant Sections, no Front-Cover Texts, and no
;; Back-Cover Texts.

(use-modules (shepherd service)
             ((ice-9 ftw) #:select (scandir)))

;; Send shepherd into the background
(perform-service-action 'shepherd 'daemonize)

;; Load all the files in the directory 'init.d' with a suffix '.scm'.
(for-each
  (lambda (file)
    (load (string-append "init.d/" file)))
  (scandir (string-append (dirname (current-filename)) "/init.d")
           (lambda (file)
             (string-suffix? ".scm" file))))

