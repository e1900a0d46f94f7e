/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef AG_VERSION_H
#define AG_VERSION_H
#define AG_VERSION "0.1.0"
#endif
