// Loaded async in the page head, so it runs while the app's modules are still downloading: the first Intl formatter
// a page makes loads the browser's ICU data (tens of ms on the main thread), which otherwise falls on the first
// render, the moment the first values could be on screen. Later formatters, of any locale, are then cheap.
new Intl.NumberFormat('vi-VN').format(0);
