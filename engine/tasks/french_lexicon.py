"""The toy English→French lexicon: nouns with gender, adjectives with their French position, verbs.

Every French form is spelled out (no inflection rules), so the grammar's output can be checked
against this table word by word.
"""

from __future__ import annotations

from dataclasses import dataclass

FRENCH_VOWELS = tuple("aeiouyéèêëîïôâh")  # the nouns here that start with "h" take elision


@dataclass(frozen=True)
class Noun:
    en: str
    en_plural: str
    fr: str
    fr_plural: str
    gender: str  # "m" or "f"
    animate: bool  # animate nouns can be subjects


@dataclass(frozen=True)
class Adjective:
    en: str
    forms: tuple[str, str, str, str]  # masculine singular, feminine singular, m. plural, f. plural
    before_noun: bool  # French position: True for petit, grand, beau, ...
    masculine_before_vowel: str | None = None  # "vieil", "bel", "nouvel"


@dataclass(frozen=True)
class Verb:
    en: str  # 3rd person singular
    en_base: str  # plural, and after "does not"
    fr: str
    fr_plural: str
    transitive: bool


def _nouns(text: str, gender: str, animate: bool) -> list[Noun]:
    entries = []
    for item in text.split():
        en, en_plural, fr, fr_plural = item.split("/")
        entries.append(Noun(en, en_plural, fr, fr_plural, gender, animate))
    return entries


NOUNS: tuple[Noun, ...] = tuple(
    _nouns("cat/cats/chat/chats dog/dogs/chien/chiens bird/birds/oiseau/oiseaux "
           "horse/horses/cheval/chevaux man/men/homme/hommes boy/boys/garçon/garçons "
           "child/children/enfant/enfants teacher/teachers/professeur/professeurs "
           "doctor/doctors/médecin/médecins student/students/étudiant/étudiants "
           "friend/friends/ami/amis neighbor/neighbors/voisin/voisins king/kings/roi/rois "
           "farmer/farmers/fermier/fermiers baker/bakers/boulanger/boulangers "
           "duck/ducks/canard/canards rabbit/rabbits/lapin/lapins bear/bears/ours/ours "
           "wolf/wolves/loup/loups fox/foxes/renard/renards lion/lions/lion/lions "
           "elephant/elephants/éléphant/éléphants", "m", True)
    + _nouns("mouse/mice/souris/souris woman/women/femme/femmes girl/girls/fille/filles "
             "queen/queens/reine/reines cow/cows/vache/vaches goat/goats/chèvre/chèvres "
             "frog/frogs/grenouille/grenouilles owl/owls/chouette/chouettes "
             "singer/singers/chanteuse/chanteuses nurse/nurses/infirmière/infirmières", "f", True)
    + _nouns("tree/trees/arbre/arbres book/books/livre/livres bridge/bridges/pont/ponts "
             "garden/gardens/jardin/jardins boat/boats/bateau/bateaux train/trains/train/trains "
             "hat/hats/chapeau/chapeaux bed/beds/lit/lits plane/planes/avion/avions "
             "hotel/hotels/hôtel/hôtels ball/balls/ballon/ballons", "m", False)
    + _nouns("car/cars/voiture/voitures house/houses/maison/maisons table/tables/table/tables "
             "chair/chairs/chaise/chaises door/doors/porte/portes window/windows/fenêtre/fenêtres "
             "apple/apples/pomme/pommes flower/flowers/fleur/fleurs river/rivers/rivière/rivières "
             "city/cities/ville/villes letter/letters/lettre/lettres road/roads/route/routes "
             "box/boxes/boîte/boîtes key/keys/clé/clés bottle/bottles/bouteille/bouteilles "
             "school/schools/école/écoles church/churches/église/églises island/islands/île/îles "
             "star/stars/étoile/étoiles", "f", False)
)


def _adjectives(text: str, before_noun: bool) -> list[Adjective]:
    entries = []
    for item in text.split():
        en, *forms = item.split("/")
        special = None
        if len(forms) == 5:
            special = forms.pop()
        if len(forms) == 1:  # same form for both genders: rouge, rouges
            forms = [forms[0], forms[0], forms[0] + "s", forms[0] + "s"]
        elif len(forms) == 2:  # regular: noir, noire, noirs, noires
            forms = [forms[0], forms[1], forms[0] + "s", forms[1] + "s"]
        entries.append(Adjective(en, tuple(forms), before_noun, special))
    return entries


ADJECTIVES: tuple[Adjective, ...] = tuple(
    _adjectives("small/petit/petite big/grand/grande beautiful/beau/belle/beaux/belles/bel "
                "young/jeune old/vieux/vieille/vieux/vieilles/vieil good/bon/bonne "
                "bad/mauvais/mauvaise/mauvais/mauvaises pretty/joli/jolie "
                "new/nouveau/nouvelle/nouveaux/nouvelles/nouvel", True)
    + _adjectives("red/rouge black/noir/noire white/blanc/blanche green/vert/verte blue/bleu/bleue "
                  "yellow/jaune fast/rapide slow/lent/lente happy/heureux/heureuse/heureux/heureuses "
                  "sad/triste tired/fatigué/fatiguée hungry/affamé/affamée strong/fort/forte "
                  "calm/calme angry/fâché/fâchée clever/intelligent/intelligente heavy/lourd/lourde "
                  "round/rond/ronde cold/froid/froide hot/chaud/chaude dirty/sale clean/propre "
                  "wet/mouillé/mouillée brave/courageux/courageuse/courageux/courageuses", False)
)


def _verbs(text: str, transitive: bool) -> list[Verb]:
    return [Verb(*item.split("/"), transitive) for item in text.split()]


VERBS: tuple[Verb, ...] = tuple(
    _verbs("sees/see/voit/voient likes/like/aime/aiment eats/eat/mange/mangent "
           "watches/watch/regarde/regardent finds/find/trouve/trouvent follows/follow/suit/suivent "
           "carries/carry/porte/portent pushes/push/pousse/poussent takes/take/prend/prennent "
           "wants/want/veut/veulent buys/buy/achète/achètent sells/sell/vend/vendent "
           "draws/draw/dessine/dessinent holds/hold/tient/tiennent pulls/pull/tire/tirent "
           "cleans/clean/nettoie/nettoient paints/paint/peint/peignent opens/open/ouvre/ouvrent "
           "helps/help/aide/aident calls/call/appelle/appellent hears/hear/entend/entendent "
           "loves/love/adore/adorent", True)
    + _verbs("sleeps/sleep/dort/dorment runs/run/court/courent sings/sing/chante/chantent "
             "walks/walk/marche/marchent swims/swim/nage/nagent laughs/laugh/rit/rient "
             "jumps/jump/saute/sautent works/work/travaille/travaillent dances/dance/danse/dansent "
             "cries/cry/pleure/pleurent waits/wait/attend/attendent plays/play/joue/jouent", False)
)

PREPOSITIONS = {"with": "avec", "without": "sans", "under": "sous", "on": "sur", "behind": "derrière",
                "in": "dans", "for": "pour", "towards": "vers"}
CONJUNCTIONS = {"and": "et", "but": "mais"}
NUMBERS = {"two": "deux", "three": "trois", "four": "quatre", "five": "cinq", "six": "six",
           "seven": "sept", "eight": "huit", "nine": "neuf", "ten": "dix"}

# French determiners: form -> (gender or None for both, number) they can introduce.
FRENCH_DETERMINERS = {
    "le": ("m", "sg"), "la": ("f", "sg"), "l'": (None, "sg"), "les": (None, "pl"),
    "un": ("m", "sg"), "une": ("f", "sg"), "ce": ("m", "sg"), "cet": ("m", "sg"),
    "cette": ("f", "sg"), "ces": (None, "pl"), "mon": (None, "sg"), "ma": ("f", "sg"),
    "mes": (None, "pl"), "chaque": (None, "sg"),
    **{fr: (None, "pl") for fr in NUMBERS.values()},
}


def starts_with_vowel(french_word: str) -> bool:
    return french_word.startswith(FRENCH_VOWELS)


def english_starts_with_vowel(word: str) -> bool:
    return word[0] in "aeiou"
