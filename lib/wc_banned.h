/*
 * wc_banned.h: functions gwspec code must not call. Include it last in every .c file.
 */
#ifndef WC_BANNED_H
#define WC_BANNED_H

#define WC_BANNED(f) sorry_##f##_is_banned_in_gwspec
#undef strcpy
#define strcpy(a, b) WC_BANNED(strcpy)
#undef strcat
#define strcat(a, b) WC_BANNED(strcat)
#undef sprintf
#define sprintf(...) WC_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) WC_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) WC_BANNED(strtok)
#undef gmtime
#define gmtime(t) WC_BANNED(gmtime)
#undef localtime
#define localtime(t) WC_BANNED(localtime)

#endif
