// Push-constant blocks written once, read by both GLSL (glslc, through
// GL_GOOGLE_include_directive) and C++ (shaders/push_constants.h). Each block is declared as
//   QS_PUSH_BLOCK(Name) { QS_U32 a; QS_F32 b; ... } QS_PUSH_INSTANCE;
// GLSL sees `layout(push_constant, std430) uniform Name { uint a; float b; } pc;`, C++ sees
// `struct Name { std::uint32_t a; float b; };`. Only 4-byte scalars are allowed (QS_U32,
// QS_I32, QS_F32): std430 places them at consecutive 4-byte offsets exactly as a C++ struct
// does, with no vec3 padding rule to get wrong; a 64-bit value is two QS_U32 (low, high).
// shaders/push_constants.h checks every block's size and offsets with static_assert.
#ifndef QS_PUSH_LAYOUT_H
#define QS_PUSH_LAYOUT_H

#ifdef __cplusplus
#include <cstdint>
#define QS_PUSH_BLOCK(Name) struct Name
#define QS_PUSH_INSTANCE
#define QS_U32 std::uint32_t
#define QS_I32 std::int32_t
#define QS_F32 float
#else
#define QS_PUSH_BLOCK(Name) layout(push_constant, std430) uniform Name
#define QS_PUSH_INSTANCE pc
#define QS_U32 uint
#define QS_I32 int
#define QS_F32 float
#endif

#endif
