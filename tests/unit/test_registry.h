/*
 * test_registry.h — what the registry's unit test files share: the clock, the role, Persian
 * and Arabic spellings (written as escapes so an editor cannot fold them) and valid national IDs.
 */
#ifndef HY_TEST_REGISTRY_H
#define HY_TEST_REGISTRY_H

#define NOW 1718452800 /* 2024-06-15 12:00 UTC: 1403/03/26 in Tehran */
#define SS "social_services"

#define YEH_FA "\u06cc"
#define YEH_AR "\u064a"
#define ZWNJ "\u200c"
#define ALI_FA "\u0639\u0644" YEH_FA             /* علی */
#define ALI_AR "\u0639\u0644" YEH_AR             /* علي */
#define HOSSEIN "\u062d\u0633" YEH_FA "\u0646"   /* حسین */
#define ZADEH "\u0632\u0627\u062f\u0647"         /* زاده */
#define ZAHRA "\u0632\u0647\u0631\u0627"         /* زهرا */
#define AKBARI "\u0627\u06a9\u0628\u0631" YEH_FA /* اکبری */

/* A valid national ID from a 9-digit base (check digit computed as DOMAIN.md says). */
void registry_test_nid(unsigned base, char out[11]);
/* test_registry_layout.c: a data directory in the index layout of before. */
void registry_test_old_layout(void);
void registry_test_old_layout_resume(void);

#endif
