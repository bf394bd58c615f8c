/* Which sanitizer this translation unit is built with. GCC defines
 * __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang 14 (Debian 12) defines
 * neither and answers __has_feature instead: a check of one spelling alone
 * misses the other compiler (CI's sanitizer build is clang's). */
#ifndef NNC_BASE_SANITIZER_H
#define NNC_BASE_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define NNC_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define NNC_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#undef NNC_ASAN
#define NNC_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#undef NNC_TSAN
#define NNC_TSAN 1
#endif
#endif
#ifndef NNC_ASAN
#define NNC_ASAN 0
#endif
#ifndef NNC_TSAN
#define NNC_TSAN 0
#endif

#endif
