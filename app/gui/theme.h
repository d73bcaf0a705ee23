#pragma once
/// The window's colours: the system's palette, or Fusion with a fixed light or dark palette
/// (View > Theme). Every plot re-themes itself on the palette change this causes.
#include <QString>

namespace qs::app {

enum class Theme { System, Light, Dark };

/// "system", "light", "dark" (the settings value).
QString themeKey(Theme theme);
/// The theme named by `key`; System for anything else.
Theme themeFromKey(const QString& key);

/// Applies `theme` to the whole application. The style and palette the application started
/// with are remembered on the first call and come back with Theme::System.
void applyTheme(Theme theme);

} // namespace qs::app
