"""Creator-facing messages: what is wrong, what to write instead, and where to put it."""

from __future__ import annotations

from .model import Connection, ContentFormat, Platform
from .normalize import INVISIBLE
from .ruleset import PlacementMode, PlatformLabelPolicy, PlatformRules, RuleSet

# What a label restricted to one connection says, and what the content really is.
LABEL_SAYS = {
    Connection.PAID: "a paid deal",
    Connection.GIFTED: "a free gift",
    Connection.AFFILIATE: "a commission",
    Connection.EMPLOYEE: "a job with, or stake in, the brand",
    Connection.FAMILY: "a family tie",
}
CONNECTION_IS = {
    Connection.PAID: "the brand paid you",
    Connection.GIFTED: "the brand gave you the product",
    Connection.AFFILIATE: "you earn a commission",
    Connection.EMPLOYEE: "you work for or have a stake in the brand",
    Connection.FAMILY: "you have a family or personal tie to the brand",
    Connection.NONE: "there is no connection",
}

PLATFORM_NAME = {
    Platform.INSTAGRAM: "Instagram",
    Platform.TIKTOK: "TikTok",
    Platform.YOUTUBE: "YouTube",
    Platform.X: "X",
    Platform.TWITCH: "Twitch",
    Platform.BLOG: "your blog",
    Platform.PODCAST: "podcast apps",
    Platform.FACEBOOK: "Facebook",
}


_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))


def quote(text: str) -> str:
    """Quote caption text as the creator sees it (invisible characters left out)."""
    return f'"{text.translate(_DROP_INVISIBLE)}"'


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def suggestion(rules: RuleSet) -> str:
    return " or ".join(quote(s) for s in rules.suggest)


def where(rules: RuleSet, platform: PlatformRules) -> str:
    """Where a label must stand, in the creator's terms."""
    fold = f"within the first {platform.fold_chars} characters"
    if platform.fold_lines:
        fold += f" and {platform.fold_lines} lines"
    name = PLATFORM_NAME[platform.platform]
    if platform.platform in (Platform.BLOG, Platform.PODCAST):
        cut = f"so readers see it before anything else on {name}"
    else:
        cut = f"so it shows before {name} cuts the caption off"
    if rules.placement is PlacementMode.START:
        return f"as the very first word of the caption ({fold}, {cut})"
    return f"at the start of the caption ({fold}, {cut})"


def platform_hint(rules: RuleSet, platform: PlatformRules) -> str:
    if platform.label_name and rules.platform_label is PlatformLabelPolicy.ACCEPTED:
        return f" Switching on {platform.label_name} also counts."
    return ""


def missing(rules: RuleSet, platform: PlatformRules, must: bool, connection: Connection) -> str:
    because = CONNECTION_IS[connection]
    lead = (
        f"No ad disclosure found, and {rules.name} requires one because {because}."
        if must
        else f"{cap(rules.name)} may require a disclosure because {CONNECTION_IS[connection]}; "
        "a reviewer should decide, and labelling is the safe choice."
    )
    return f"{lead} Write {suggestion(rules)} {where(rules, platform)}." + platform_hint(
        rules, platform
    )


def rejected(text: str, reason: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)} is not a clear ad label for {rules.name}: {reason}. "
        f"Write {suggestion(rules)} instead, {where(rules, platform)}."
    ) + platform_hint(rules, platform)


def foreign(text: str, reason: str, rules: RuleSet, platform: PlatformRules) -> str:
    return f"{quote(text)}: {reason}. Write {suggestion(rules)} {where(rules, platform)}." + (
        platform_hint(rules, platform)
    )


def secondary_only(text: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)} is a secondary label: in {rules.name} it only counts after a primary "
        f"label. Write {suggestion(rules)} (or {quote('#gifted')} for a gift) "
        f"{where(rules, platform)}, then keep {quote(text)} after it if you like."
    )


def connection_mismatch(
    text: str, says: Connection, actual: Connection, rules: RuleSet, platform: PlatformRules
) -> str:
    return (
        f"{quote(text)} tells followers about {LABEL_SAYS[says]}, but {CONNECTION_IS[actual]}: "
        f"the label must match the real connection. Write {suggestion(rules)} "
        f"{where(rules, platform)}."
    )


def unlisted(text: str, reason: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)}: {reason}; a reviewer should confirm it is understood. To be safe, "
        f"also write {suggestion(rules)} {where(rules, platform)}."
    )


def contradiction(text: str, connection: Connection, rules: RuleSet) -> str:
    return (
        f"{quote(text)} tells followers this is not advertising, but {CONNECTION_IS[connection]}. "
        f"Remove it and label the content with {suggestion(rules)}."
    )


def not_upfront(text: str, rules: RuleSet, platform: PlatformRules) -> str:
    if rules.placement is PlacementMode.START:
        why = f"{rules.name} expects the label at the very start of the content"
    else:
        why = 'followers may never tap "more" to see it'
    return f"{quote(text)} comes too late: {why}. Move it {where(rules, platform)}."


def buried(text: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)} is lost in a block of hashtags, where followers skip over it. "
        f"Take it out of the hashtags and put it {where(rules, platform)}."
    )


def spelt_out(text: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)} is spelt out letter by letter: followers may not read it as a label, "
        f"and a reviewer should decide whether it is clear. Write {suggestion(rules)} as one "
        f"word {where(rules, platform)}."
    )


def only_in_comment(text: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"{quote(text)} is only in a comment or reply: followers who don't open the comments "
        f"never see it, so it does not count for {rules.name}. Put {suggestion(rules)} in the "
        f"caption itself, {where(rules, platform)}."
    )


def platform_label_only(rules: RuleSet, platform: PlatformRules) -> str:
    label = platform.label_name or "the platform's label"
    return (
        f"{cap(label)} alone may not be enough for {rules.name}. "
        f"Also write {suggestion(rules)} {where(rules, platform)}."
    )


def missing_image_mention(label: str, what: str, rules: RuleSet, platform: PlatformRules) -> str:
    return (
        f"This content is {what}: {rules.name} requires the mention {quote(label)}, clearly "
        f"legible on the image or video itself. Put it there, and write it "
        f"{where(rules, platform)}."
    )


def image_mention_not_upfront(label: str, rules: RuleSet, platform: PlatformRules) -> str:
    return f"{quote(label)} comes too late in the caption. Move it {where(rules, platform)}."


def visual_check(
    fmt: ContentFormat, platform: PlatformRules, shows: list[str], rules: RuleSet
) -> str:
    what = " and ".join(quote(s) for s in shows)
    extra = {
        ContentFormat.STORY: " on every story slide",
        ContentFormat.LIVE: " and repeat it regularly during the live",
    }.get(fmt, " from the start and for as long as the product is shown")
    tool = (
        f", or switch on {platform.label_name}"
        if platform.label_name and rules.platform_label is PlatformLabelPolicy.ACCEPTED
        else ""
    )
    return (
        f"A caption cannot prove what is shown or said in a {fmt.value.lower()}: show {what} on "
        f"screen{extra} (and say it out loud){tool}. A reviewer must check the video."
    )


def spoken(rules: RuleSet) -> str:
    """The suggested labels as words to say out loud ("#ad" and "Ad:" both become "Ad")."""
    words: list[str] = []
    for label in rules.suggest:
        word = cap(label.strip("#: "))
        if word.lower() not in (w.lower() for w in words):
            words.append(word)
    return " or ".join(quote(w) for w in words)


def audio_check(rules: RuleSet) -> str:
    return (
        f"Show notes cannot prove what is said in the episode: say {spoken(rules)} clearly "
        "before every ad read or sponsored segment. A reviewer must check the audio."
    )
