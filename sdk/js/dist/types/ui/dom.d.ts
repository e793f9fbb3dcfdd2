type Attrs = Record<string, string | boolean | undefined | ((e: any) => void)>;
export declare function h(tag: string, attrs?: Attrs, ...children: (Node | string | null | undefined | false)[]): HTMLElement;
/** A host element with an open shadow root holding the styles. */
export declare function host(tag: string, css: string): {
    el: HTMLElement;
    root: ShadowRoot;
};
export {};
